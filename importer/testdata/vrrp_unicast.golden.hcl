vrrp_instance "VI_UNI" {
  state             = "BACKUP"
  interface         = "eth0"
  virtual_router_id = 80
  priority          = 150
  virtual_ipaddress = [{
    address = "192.0.2.100/24"
    dev     = "eth0"
  }]
  nopreempt      = true
  unicast_src_ip = "192.0.2.11"
  unicast_peer   = ["192.0.2.12", "192.0.2.13"]
}
