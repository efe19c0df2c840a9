-- mod_http_upload's option; the upload service below is mod_http_file_share.
http_upload_file_size_limit = 50 * 1024 * 1024

Component("upload." .. pfe.domain) "http_file_share"
