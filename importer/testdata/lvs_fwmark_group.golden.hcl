virtual_server_group "WEB" {
  vip    = ["192.0.2.10:80", "192.0.2.20:80", "192.0.2.21:80", "192.0.2.22:80", "192.0.2.23:80", "198.51.100.8:80", "198.51.100.9:80", "198.51.100.10:80", "198.51.100.11:80"]
  fwmark = [5]
}

virtual_server "WEB" {
  group      = "WEB"
  protocol   = "TCP"
  delay_loop = "5s"
  lb_algo    = "rr"
  lb_kind    = "DR"

  real_server "203.0.113.50:80" {
    tcp_check {
      connect_timeout = "3s"
    }
  }
}

virtual_server "fwmark_1" {
  fwmark                  = 1
  family                  = "inet6"
  protocol                = "TCP"
  delay_loop              = "5s"
  lb_algo                 = "sh"
  lb_kind                 = "DR"
  persistence_timeout     = "5m"
  persistence_granularity = "64"

  real_server "[2001:db8:300::1]:443" {
    tcp_check {
      connect_port = 443
    }
  }
}
