Component("upload." .. pfe.domain) "http_upload"
