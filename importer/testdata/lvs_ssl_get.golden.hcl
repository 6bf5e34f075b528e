virtual_server "198.51.100.80_443" {
  address    = "198.51.100.80:443"
  protocol   = "TCP"
  delay_loop = "5s"
  lb_algo    = "sh"
  lb_kind    = "DR"

  real_server "203.0.113.21:443" {
    ssl_get {
      connect_timeout = "2.5s"

      url {
        path        = "/healthz"
        status_code = 200
      }

      enable_sni = true
    }
  }
  real_server "203.0.113.22:443" {
    ssl_get {
      url {
        path = "/healthz"
      }

      enable_sni = true
    }
  }
}
