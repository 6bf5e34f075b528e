vrrp_track_file "maint" {
  file = "/run/maint"
}

# Checkers keepalived has and hacfg does not carry: each is reported once,
# at its keyword.
virtual_server "192.0.2.40_514" {
  # Checkers keepalived has and hacfg does not carry: each is reported once,
  # at its keyword.
  address    = "192.0.2.40:514"
  protocol   = "UDP"
  delay_loop = "5s"
  lb_algo    = "rr"
  lb_kind    = "NAT"

  real_server "203.0.113.41:514" {
  }
  real_server "203.0.113.42:514" {
    tcp_check {
      connect_port = 22
    }
  }
}
