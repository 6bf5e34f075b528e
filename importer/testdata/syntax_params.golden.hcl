# $NAME definitions, ${NAME} substitution, a multi-line definition,
# @ID / @^ID conditional lines (the tests import with config id "lb1")
# and ~SEQ expansion.
global_defs {
  router_id = "lb1"
}

vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  virtual_ipaddress = ["192.0.2.10/24", "192.0.2.11/24", "192.0.2.12/24"]
}

virtual_server "192.0.2.10_80" {
  address  = "192.0.2.10:80"
  protocol = "TCP"
  lb_algo  = "rr"
  lb_kind  = "NAT"

  real_server "203.0.113.1:80" {
    tcp_check {
      connect_timeout = "2s"
    }
  }
  real_server "203.0.113.2:80" {
    tcp_check {
      connect_timeout = "2s"
    }
  }
}
