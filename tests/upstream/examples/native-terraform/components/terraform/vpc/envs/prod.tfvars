cidr_block           = "10.1.0.0/16"
environment          = "prod"
enable_dns_hostnames = true

tags = {
  Environment = "Production"
  Team        = "platform"
}
