# keepalived.conf syntax: comments, quoting, braces and blank lines
# a hash comment at the top
global_defs {
  router_id               = "LB A"
  notification_email_from = "lb@example.com"
}

vrrp_script "chk" {
  script   = "/usr/local/bin/check --name 'x y' # not a comment"
  interval = "5s"
}

vrrp_instance "VI_1" {
  interface = "eth0"
  # the router id is shared by both nodes
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.10/24"]
  track_script      = ["chk"]
}
