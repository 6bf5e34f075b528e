# Checker settings given on the virtual server and real server are
# inherited by the checkers below them.
virtual_server "192.0.2.10_3306" {
  # Checker settings given on the virtual server and real server are
  # inherited by the checkers below them.
  address            = "192.0.2.10:3306"
  protocol           = "TCP"
  delay_loop         = "2s"
  lb_algo            = "wrr"
  lb_kind            = "NAT"
  inhibit_on_failure = true

  real_server "203.0.113.11:3306" {
    weight = 3

    tcp_check {
      connect_timeout    = "2s"
      retry              = 3
      delay_before_retry = "2s"
      warmup             = "5s"
    }
  }
  real_server "203.0.113.12:3306" {
    weight = 2

    tcp_check {
      connect_ip         = "203.0.113.112"
      connect_port       = 3307
      bindto             = "192.0.2.5"
      bind_port          = 40000
      connect_timeout    = "4s"
      retry              = 5
      delay_before_retry = "2s"
      delay_loop         = "10s"
      warmup             = "5s"
    }
    tcp_check {
      connect_port       = 22
      connect_timeout    = "4s"
      retry              = 5
      delay_before_retry = "2s"
      delay_loop         = "10s"
    }
  }
}
