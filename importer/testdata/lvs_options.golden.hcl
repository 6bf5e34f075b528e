virtual_server "192.0.2.80_80" {
  address                 = "192.0.2.80:80"
  protocol                = "TCP"
  delay_loop              = "6s"
  lb_algo                 = "wrr"
  lb_kind                 = "DR"
  persistence_timeout     = "50s"
  persistence_granularity = "255.255.255.0"
  ha_suspend              = true
  sorry_server            = "203.0.113.250:80"
  sorry_server_inhibit    = true
  quorum                  = 2
  hysteresis              = 1
  quorum_up               = "/usr/local/bin/quorum up"
  quorum_down             = "/usr/local/bin/quorum down"
  alpha                   = true
  omega                   = true

  real_server "203.0.113.81:80" {
    weight             = 5
    inhibit_on_failure = true
    notify_up          = "/usr/local/bin/rs up 203.0.113.81"
    notify_down        = "/usr/local/bin/rs down 203.0.113.81"
    lb_kind            = "TUN"

    tcp_check {
      connect_timeout = "3s"
    }
  }
  real_server "203.0.113.82:80" {
    weight  = 0
    lb_kind = "NAT"
  }
}

virtual_server "192.0.2.80_80_udp" {
  address  = "192.0.2.80:80"
  protocol = "UDP"
  lb_algo  = "rr"
  lb_kind  = "NAT"

  real_server "203.0.113.81:80" {
  }
}

virtual_server "192.0.2.81_53" {
  address  = "192.0.2.81:53"
  protocol = "SCTP"
  lb_algo  = "mh"
  lb_kind  = "NAT"

  real_server "203.0.113.83:53" {
  }
}
