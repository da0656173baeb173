variable "stage" {
  description = "The stage of the environment (e.g. dev, staging, prod)"
}
