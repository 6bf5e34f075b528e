vrrp_instance "VI_VMAC" {
  state                      = "BACKUP"
  interface                  = "eth0"
  virtual_router_id          = 52
  priority                   = 90
  advert_int                 = "2s"
  virtual_ipaddress          = ["192.0.2.52/24"]
  preempt_delay              = "30s"
  use_vmac                   = true
  vmac_name                  = "vrrp.52"
  vmac_xmit_base             = true
  dont_track_primary         = true
  garp_master_delay          = "2s"
  garp_master_repeat         = 3
  garp_master_refresh        = "30s"
  garp_master_refresh_repeat = 2
}

vrrp_instance "VI_PREEMPT" {
  interface         = "eth0"
  virtual_router_id = 53
  virtual_ipaddress = ["192.0.2.53/24"]
  use_vmac          = true
}
