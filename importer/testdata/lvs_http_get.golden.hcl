virtual_server "198.51.100.80_80" {
  address             = "198.51.100.80:80"
  protocol            = "TCP"
  delay_loop          = "3s"
  lb_algo             = "wlc"
  lb_kind             = "DR"
  persistence_timeout = "2m"
  virtualhost         = "www.example.com"

  real_server "203.0.113.21:80" {
    weight = 10

    http_get {
      connect_port       = 8080
      bindto             = "198.51.100.5"
      connect_timeout    = "3s"
      retry              = 3
      delay_before_retry = "2s"

      url {
        path        = "/healthz"
        status_code = 200
      }
      url {
        path        = "/"
        digest      = "9b3a0c85a887a256d6939da88aabd8cd"
        virtualhost = "static.example.com"
      }
      url {
        path        = "/ready"
        status_code = ["200-299", 304, 503]
      }

      virtualhost = "app.example.com"
    }
  }
  real_server "203.0.113.22:80" {
    weight = 10

    http_get {
      retry = 2

      url {
        path = "/healthz"
      }

      virtualhost = "rs.example.com"
    }
  }
}
