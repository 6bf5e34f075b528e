# An LVS direct-routing cluster of two load balancers in front of four web
# servers checked with HTTP GET. When every web server is down, traffic goes
# to a sorry server that serves a maintenance page.

global_defs {
  script_user             = "hacfg"
  enable_script_security  = true
  notification_email      = ["ops@example.com"]
  notification_email_from = "lb@example.com"
  smtp_server             = "192.0.2.25:25"
  smtp_connect_timeout    = "30s"
}

node "lb-a" {
  router_id = "LVS_A"
}

node "lb-b" {
  router_id = "LVS_B"
}

vrrp_instance "VI_HTTP" {
  interface         = "eth0"
  virtual_router_id = 60
  advert_int        = "1s"
  virtual_ipaddress = [
    "198.51.100.80/24",
    { address = "198.51.100.81/24", dev = "eth0", label = "eth0:web" },
  ]
  smtp_alert = true

  node "lb-a" {
    state    = "MASTER"
    priority = 200
  }

  node "lb-b" {
    priority = 150
  }
}

virtual_server "http" {
  address             = "198.51.100.80:80"
  protocol            = "TCP"
  lb_algo             = "wlc"
  lb_kind             = "DR"
  delay_loop          = "3s"
  persistence_timeout = "2m"
  sorry_server        = "203.0.113.250:80"
  quorum              = 2
  hysteresis          = 1
  quorum_up           = "/usr/local/bin/quorum up http"
  quorum_down         = "/usr/local/bin/quorum down http"

  real_server "203.0.113.21:80" {
    weight      = 10
    notify_down = "/usr/local/bin/rs-notify down 203.0.113.21"
    http_get {
      url {
        path        = "/healthz"
        status_code = 200
      }
      url {
        path   = "/"
        digest = "9b3a0c85a887a256d6939da88aabd8cd"
      }
      connect_timeout    = "3s"
      retry              = 3
      delay_before_retry = "2s"
    }
  }

  real_server "203.0.113.22:80" {
    weight = 10
    http_get {
      url {
        path        = "/healthz"
        status_code = ["200-299", 304]
      }
      connect_timeout = "3s"
    }
  }

  real_server "203.0.113.23:80" {
    weight             = 5
    inhibit_on_failure = true
    http_get {
      url {
        path = "/healthz"
      }
      connect_timeout = "3s"
    }
  }

  real_server "203.0.113.24:80" {
    weight = 5
    http_get {
      url {
        path = "/healthz"
      }
      connect_timeout = "3s"
    }
  }
}

virtual_server "https" {
  address    = "198.51.100.80:443"
  protocol   = "TCP"
  lb_algo    = "sh"
  lb_kind    = "DR"
  delay_loop = "5s"

  real_server "203.0.113.21:443" {
    ssl_get {
      url {
        path = "/healthz"
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
