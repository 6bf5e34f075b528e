virtual_server "2001:db8:53::53_53" {
  address    = "[2001:db8:53::53]:53"
  protocol   = "UDP"
  delay_loop = "2s"
  lb_algo    = "rr"
  lb_kind    = "NAT"

  real_server "[2001:db8:200::1]:53" {
    dns_check {
      connect_timeout = "1s"
      retry           = 1
      type            = "AAAA"
      name            = "ns.example.test"
    }
  }
  real_server "[2001:db8:200::2]:53" {
    dns_check {
      type = "SOA"
      name = "example.test"
    }
  }
}
