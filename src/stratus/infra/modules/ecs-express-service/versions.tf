terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_ecs_express_gateway_service arrived in 6.23.0.
      version = ">= 6.23.0, < 7.0.0"
    }
  }
}
