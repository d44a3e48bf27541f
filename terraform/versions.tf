terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # One state per environment: the state key comes from envs/<env>.s3.tfbackend at `terraform init`. The state
  # bucket and lock table are created once per account by hand (docs/deploy.md step 2): Terraform cannot hold
  # its own state in a bucket it creates.
  backend "s3" {
    bucket         = "streamloop-terraform-state"
    region         = "us-east-1"
    encrypt        = true
    dynamodb_table = "streamloop-terraform-locks"
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { project = "streamloop", environment = var.environment, managed_by = "terraform" }
  }
}
