# a UTF-8 BOM and CRLF line endings
global_defs {
  router_id = "crlf_node"
}

vrrp_instance "VI_CRLF" {
  interface         = "eth0"
  virtual_router_id = 9
  priority          = 99
  virtual_ipaddress = ["192.0.2.9/24"]
}
