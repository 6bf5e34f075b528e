# An IPv6 service address shared with VRRPv3 and 100 ms adverts, so a backup
# takes over in about 350 ms. Its real servers are checked with DNS queries.

global_defs {
  vrrp_version = 3
}

node "lb1" {}
node "lb2" {}

vrrp_instance "VI_V6" {
  interface         = "eth0"
  virtual_router_id = 70
  advert_int        = "100ms"
  virtual_ipaddress = ["2001:db8:53::53/64"]
  virtual_routes = [
    { to = "2001:db8:100::/48", via = "2001:db8:53::1", dev = "eth0" },
  ]

  node "lb1" {
    state    = "MASTER"
    priority = 120
  }
  node "lb2" {
    priority = 110
  }
}

virtual_server "dns" {
  address    = "[2001:db8:53::53]:53"
  protocol   = "UDP"
  lb_algo    = "rr"
  lb_kind    = "NAT"
  delay_loop = "2s"

  real_server "[2001:db8:200::1]:53" {
    dns_check {
      type = "AAAA"
      name = "ns.example.test"
    }
  }
  real_server "[2001:db8:200::2]:53" {
    dns_check {
      type = "AAAA"
      name = "ns.example.test"
    }
  }
}
