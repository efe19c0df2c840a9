legacy_ssl_ports = { 5223 } -- now c2s_direct_tls_ports
