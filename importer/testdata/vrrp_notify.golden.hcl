global_defs {
  script_user            = "root"
  enable_script_security = true
}

vrrp_instance "VI_N" {
  interface         = "eth0"
  virtual_router_id = 60
  virtual_ipaddress = ["192.0.2.60/24"]
  notify_master     = "/etc/keepalived/notify.sh master VI_N"
  notify_backup     = "/etc/keepalived/backup.sh"
  notify_fault      = "/etc/keepalived/notify.sh fault"
  notify_stop       = "/etc/keepalived/stop.sh"
  notify            = "/etc/keepalived/notify-all.sh"
  smtp_alert        = true
}
