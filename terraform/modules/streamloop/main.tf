# The whole AWS footprint of one environment; the root configuration (terraform/main.tf) passes the values
# of envs/<env>.tfvars.
# Every name the code reads arrives as a STREAMLOOP_* environment variable (streamloop/core/settings.py).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, { project = "streamloop", environment = var.environment })

  lake_prefix = "lake"
  lake_uri    = "s3://${module.lake.name}/${local.lake_prefix}"

  # Messaging state (ledger, outbox, contacts, trigger queue) shares one table, as the settings name it
  # (STREAMLOOP_MESSAGING_DYNAMODB_TABLE; docs/deploy.md "Names").
  common_environment = {
    STREAMLOOP_ENVIRONMENT    = "aws"
    STREAMLOOP_AWS_REGION     = var.region
    STREAMLOOP_LAKE_URI       = local.lake_uri
    STREAMLOOP_REGISTRY_URI   = "s3://${module.lake.name}/registry"
    STREAMLOOP_ONLINE_STORE   = "dynamodb"
    STREAMLOOP_DYNAMODB_TABLE = module.online_store.name
    STREAMLOOP_HOME           = "/tmp/streamloop" # the only writable path in Lambda; nothing durable is kept there
    # messaging and privacy secrets (HMAC keys, suppression-list salt): sensitive variables, KMS-encrypted at rest
    STREAMLOOP_MESSAGING_STORE              = "dynamodb"
    STREAMLOOP_MESSAGING_DYNAMODB_TABLE     = module.messaging_store.name
    STREAMLOOP_MESSAGING_CONTACT_SECRET     = var.messaging_contact_secret
    STREAMLOOP_MESSAGING_UNSUBSCRIBE_SECRET = var.messaging_unsubscribe_secret
    STREAMLOOP_PRIVACY_SALT                 = var.privacy_salt
    STREAMLOOP_SNS_FEEDBACK_TOPIC_ARN       = module.delivery.feedback_topic_arn
  }
}

module "key" {
  source             = "../kms_key"
  name               = var.name_prefix
  service_principals = ["sns.amazonaws.com", "events.amazonaws.com", "firehose.amazonaws.com", "ses.amazonaws.com"]
  tags               = local.tags
}

module "lake" {
  source      = "../bucket"
  name        = var.lake_bucket_name
  kms_key_arn = module.key.arn
  expire_prefixes = {
    "${local.lake_prefix}/rejected/" = var.rejected_retention_days
    "${local.lake_prefix}/ignored/"  = var.rejected_retention_days
    "${local.lake_prefix}/events/"   = var.raw_events_retention_days
    "firehose-errors/"               = var.rejected_retention_days
  }
  force_destroy = !var.deletion_protection
  tags          = local.tags
}

module "artifacts" {
  source        = "../bucket"
  name          = var.artifact_bucket_name
  kms_key_arn   = module.key.arn
  force_destroy = !var.deletion_protection
  tags          = local.tags
}

# Online store: features, real-time state, bandit counts and the collector's idempotency `seen` markers
# (namespace `seen#`, expiring through TTL on expires_at; streamloop/core/store/dynamodb.py).
module "online_store" {
  source              = "../dynamodb_table"
  name                = "${var.name_prefix}-online"
  kms_key_arn         = module.key.arn
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

# Messaging state: ledger, outbox/inbox, contacts, consents, suppressions, trigger queue, message events
# (messaging/dynamodb.py). The indexes are messaging.dynamodb.INDEXES, name for name (a test compares them).
module "messaging_store" {
  source              = "../dynamodb_table"
  name                = "${var.name_prefix}-messaging"
  kms_key_arn         = module.key.arn
  deletion_protection = var.deletion_protection
  global_secondary_indexes = [
    { name = "open", hash_key = "open_pk", range_key = "open_sk", projection_type = "ALL", non_key_attributes = [] },
    { name = "history", hash_key = "hist_pk", range_key = "send_at", projection_type = "INCLUDE", non_key_attributes = ["profile_id", "campaign_id"] },
    { name = "triggers", hash_key = "trig_pk", range_key = "trig_sk", projection_type = "ALL", non_key_attributes = [] },
    { name = "events", hash_key = "evt_pk", range_key = "pk", projection_type = "INCLUDE", non_key_attributes = ["body"] },
    { name = "inbox", hash_key = "inbox_pk", range_key = "inbox_sk", projection_type = "ALL", non_key_attributes = [] },
    { name = "profile", hash_key = "pid", range_key = "pk", projection_type = "KEYS_ONLY", non_key_attributes = [] },
  ]
  tags = local.tags
}

module "landing" {
  source             = "../firehose"
  for_each           = toset(["events", "rejected", "ignored"])
  name               = "${var.name_prefix}-${each.key}"
  kind               = each.key
  bucket_arn         = module.lake.arn
  lake_prefix        = local.lake_prefix
  kms_key_arn        = module.key.arn
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "delivery" {
  source        = "../delivery"
  name          = var.name_prefix
  sender_domain = var.sender_domain
  kms_key_arn   = module.key.arn
  tags          = local.tags
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = module.key.arn
  tags              = local.tags
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Every role that reads or writes the environment's data uses its key only through these two actions;
# each policy below appends this statement (override_policy_documents adds it after its own statements).
data "aws_iam_policy_document" "use_data_key" {
  statement {
    sid       = "UseDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.key.arn]
  }
}

# -- API function: collect events, serve pages, admin routes -------------------------------------------
data "aws_iam_policy_document" "api" {
  override_policy_documents = [data.aws_iam_policy_document.use_data_key.json]

  statement {
    sid = "OnlineStoreReadWrite"
    actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem",
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
    resources = [module.online_store.arn]
  }
  statement {
    # collector hook (contacts, consents, triggers), in-app inbox (transactions of updates and puts),
    # unsubscribe, SES feedback, privacy forget (a Query on the profile index, then batch deletes)
    sid = "ContactsInboxFeedbackAndForget"
    actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"]
    resources = [module.messaging_store.arn, "${module.messaging_store.arn}/index/*"]
  }
  statement {
    sid       = "LandThroughFirehose"
    actions   = ["firehose:PutRecordBatch"]
    resources = [for stream in module.landing : stream.arn]
  }
  statement {
    sid       = "ReadModelRegistry"
    actions   = ["s3:GetObject"]
    resources = ["${module.lake.arn}/registry/*"]
  }
}

module "api" {
  source               = "../lambda_function"
  name                 = "${var.name_prefix}-api"
  description          = "streamloop HTTP API (events, home pages, recommendations, admin) behind a Function URL"
  handler              = "functions.api.handler.handler"
  artifact_bucket      = module.artifacts.name
  artifact_key         = var.api_artifact_key
  memory_mb            = 1024
  timeout_s            = 15
  reserved_concurrency = var.api_reserved_concurrency
  function_url         = true
  cors_allowed_origins = var.cors_allowed_origins
  policy_json          = data.aws_iam_policy_document.api.json
  kms_key_arn          = module.key.arn
  log_retention_days   = var.log_retention_days
  alarm_actions        = [aws_sns_topic.alarms.arn]
  environment = merge(local.common_environment, {
    STREAMLOOP_API_KEYS                 = join(",", var.api_key_hashes)
    STREAMLOOP_ADMIN_KEYS               = join(",", var.admin_key_hashes)
    STREAMLOOP_LANDING                  = "firehose"
    STREAMLOOP_FIREHOSE_EVENTS_STREAM   = module.landing["events"].name
    STREAMLOOP_FIREHOSE_REJECTED_STREAM = module.landing["rejected"].name
    STREAMLOOP_FIREHOSE_IGNORED_STREAM  = module.landing["ignored"].name
  })
  tags = local.tags
}

# -- Lifecycle function: runs campaigns on a schedule -----------------------------------------------------
data "aws_iam_policy_document" "lifecycle" {
  override_policy_documents = [data.aws_iam_policy_document.use_data_key.json]

  statement {
    sid       = "ReadProfileState"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem"]
    resources = [module.online_store.arn]
  }
  statement {
    # claims (conditional puts), transitions (conditional updates), local deliveries (TransactWriteItems:
    # authorized per item as Update/Put), Queries of the due/history/trigger/event indexes, and the one
    # Scan: the ledger snapshot exported to the lake for campaign_sends
    sid = "MessagingStores"
    actions = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
    "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"]
    resources = [module.messaging_store.arn, "${module.messaging_store.arn}/index/*"]
  }
  statement {
    sid       = "SendEmailThroughConfigurationSet"
    actions   = ["ses:SendEmail", "ses:SendRawEmail"] # messaging/delivery/ses.py sends raw MIME
    resources = [module.delivery.identity_arn, module.delivery.configuration_set_arn]
  }
  statement {
    sid       = "SendPush"
    actions   = ["sns:Publish"]
    resources = ["arn:${data.aws_partition.current.partition}:sns:${var.region}:${data.aws_caller_identity.current.account_id}:endpoint/*"]
  }
  statement {
    sid       = "LandMessageEvents"
    actions   = ["firehose:PutRecordBatch"]
    resources = [module.landing["events"].arn]
  }
  statement {
    # the audience the publication job wrote (messaging/audience_snapshot.py): no warehouse in Lambda
    sid       = "ReadPublishedAudience"
    actions   = ["s3:GetObject"]
    resources = ["${module.lake.arn}/${local.lake_prefix}/messaging/audience/*"]
  }
  statement {
    # the runner's export (messaging/export.py): message events and rejects as lake batches, and the
    # ledger snapshot <lake>/messaging/ledger.parquet that the campaign_sends mart reads
    sid     = "ExportMessagingToLake"
    actions = ["s3:PutObject"]
    resources = [
      "${module.lake.arn}/${local.lake_prefix}/events/*",
      "${module.lake.arn}/${local.lake_prefix}/rejected/*",
      "${module.lake.arn}/${local.lake_prefix}/messaging/*",
    ]
  }
}

module "lifecycle" {
  source               = "../lambda_function"
  name                 = "${var.name_prefix}-lifecycle"
  description          = "streamloop lifecycle messaging: evaluates campaigns/*.yml on each schedule tick"
  handler              = "functions.lifecycle.handler.handler"
  artifact_bucket      = module.artifacts.name
  artifact_key         = var.lifecycle_artifact_key
  memory_mb            = 1024
  timeout_s            = 300
  reserved_concurrency = 1 # one tick at a time; the ledger also dedupes concurrent runs
  policy_json          = data.aws_iam_policy_document.lifecycle.json
  kms_key_arn          = module.key.arn
  log_retention_days   = var.log_retention_days
  alarm_actions        = [aws_sns_topic.alarms.arn]
  environment = merge(local.common_environment, {
    STREAMLOOP_LANDING                = "firehose"
    STREAMLOOP_FIREHOSE_EVENTS_STREAM = module.landing["events"].name
    STREAMLOOP_SES_SENDER             = "${var.sender_local_part}@${var.sender_domain}" # the identity's default configuration set applies
  })
  tags = local.tags
}

module "lifecycle_schedule" {
  source              = "../schedule"
  name                = "${var.name_prefix}-lifecycle"
  schedule_expression = var.lifecycle_schedule
  function_name       = module.lifecycle.function_name
  function_arn        = module.lifecycle.arn
  kms_key_arn         = module.key.arn
  tags                = local.tags
}

# -- Orchestrator (Dagster) role: builds the warehouse from the lake, compacts it, trains, publishes ------
# The Dagster daemon/webserver run on ECS or EC2 (docs/deploy.md "Dagster"); this is their task/instance role.
data "aws_iam_policy_document" "orchestrator_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "orchestrator" {
  name               = "${var.name_prefix}-orchestrator"
  assume_role_policy = data.aws_iam_policy_document.orchestrator_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "orchestrator" {
  override_policy_documents = [data.aws_iam_policy_document.use_data_key.json]

  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [module.lake.arn]
  }
  statement {
    sid       = "ReadLakeAndRegistry"
    actions   = ["s3:GetObject"]
    resources = ["${module.lake.arn}/${local.lake_prefix}/*", "${module.lake.arn}/registry/*"]
  }
  statement {
    sid     = "CompactLakeAndPublishModels"
    actions = ["s3:PutObject", "s3:DeleteObject"]
    resources = [
      "${module.lake.arn}/${local.lake_prefix}/events/*",
      "${module.lake.arn}/${local.lake_prefix}/rejected/*",
      "${module.lake.arn}/${local.lake_prefix}/ignored/*",
      "${module.lake.arn}/${local.lake_prefix}/_compaction/*",
      "${module.lake.arn}/${local.lake_prefix}/messaging/audience/*", # messaging_audience_snapshot
      "${module.lake.arn}/registry/*",
    ]
  }
  statement {
    sid       = "PublishOnlineStore"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:DeleteItem"]
    resources = [module.online_store.arn]
  }
}

resource "aws_iam_role_policy" "orchestrator" {
  name   = "${var.name_prefix}-orchestrator"
  role   = aws_iam_role.orchestrator.id
  policy = data.aws_iam_policy_document.orchestrator.json
}
