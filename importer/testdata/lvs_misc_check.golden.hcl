virtual_server "192.0.2.30_8080" {
  address    = "192.0.2.30:8080"
  protocol   = "TCP"
  delay_loop = "10s"
  lb_algo    = "lc"
  lb_kind    = "NAT"

  real_server "203.0.113.31:8080" {
    misc_check {
      retry              = 2
      delay_before_retry = "3s"
      warmup             = "4s"
      misc_path          = "/usr/local/bin/check-app 203.0.113.31 8080"
      misc_timeout       = "5s"
      misc_dynamic       = true
      user               = "nobody"
    }
  }
  real_server "203.0.113.32:8080" {
    misc_check {
      misc_path = "/usr/local/bin/check-simple"
    }
  }
}
