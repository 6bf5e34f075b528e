virtual_server "192.0.2.25_25" {
  address    = "192.0.2.25:25"
  protocol   = "TCP"
  delay_loop = "15s"
  lb_algo    = "rr"
  lb_kind    = "NAT"

  real_server "203.0.113.25:25" {
    smtp_check {
      connect_timeout    = "10s"
      retry              = 2
      delay_before_retry = "5s"
      helo_name          = "lb.example.com"

      host {
        connect_ip   = "203.0.113.26"
        connect_port = 25
        bindto       = "192.0.2.5"
      }
      host {
        connect_ip      = "203.0.113.27"
        connect_port    = 587
        connect_timeout = "5s"
      }
    }
  }
}
