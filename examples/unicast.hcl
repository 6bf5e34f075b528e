# VRRP over unicast for networks without multicast (clouds, some switches).
# Each node names its own source address and its peers.

node "lb1" {}
node "lb2" {}
node "lb3" {}

vrrp_instance "VI_UNI" {
  interface         = "eth0"
  virtual_router_id = 80
  virtual_ipaddress = ["192.0.2.100/24"]
  nopreempt         = true

  node "lb1" {
    priority       = 150
    unicast_src_ip = "192.0.2.11"
    unicast_peer   = ["192.0.2.12", "192.0.2.13"]
  }
  node "lb2" {
    priority       = 140
    unicast_src_ip = "192.0.2.12"
    unicast_peer   = ["192.0.2.11", "192.0.2.13"]
  }
  node "lb3" {
    priority       = 130
    unicast_src_ip = "192.0.2.13"
    unicast_peer   = ["192.0.2.11", "192.0.2.12"]
  }
}
