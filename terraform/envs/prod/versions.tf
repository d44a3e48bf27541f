terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # One state per environment. The state bucket and lock table are created once per account by hand
  # (docs/deploy.md step 2): Terraform cannot hold its own state in a bucket it creates.
  backend "s3" {
    bucket         = "streamloop-terraform-state"
    key            = "prod/terraform.tfstate"
    region         = "us-east-1"
    encrypt        = true
    dynamodb_table = "streamloop-terraform-locks"
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "streamloop", environment = "prod", managed_by = "terraform" }
  }
}
