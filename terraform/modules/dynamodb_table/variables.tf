variable "name" {
  type        = string
  description = "Table name; must equal the setting the code reads it from (docs/deploy.md lists them)."
}

variable "hash_key" {
  type        = string
  description = "Partition key attribute (string)."
  default     = "pk"
}

variable "range_key" {
  type        = string
  description = "Sort key attribute (string), or null for a key-value table."
  default     = null
}

variable "global_secondary_indexes" {
  type = list(object({
    name               = string
    hash_key           = string
    range_key          = string
    projection_type    = string # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes = list(string)
  }))
  description = "Global secondary indexes (string keys, on-demand like the table); the code that queries them defines them too."
  default     = []
}

variable "ttl_attribute" {
  type        = string
  description = "Attribute holding the epoch second after which DynamoDB deletes the item."
  default     = "expires_at"
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for encryption at rest."
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse `terraform destroy` / DeleteTable (on in prod)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}
