"""The registry's vocabularies, defined once (docs/contract.md section 1)."""

from django.db import models


class ModelType(models.TextChoices):
    CHAT = "chat", "Chat"
    COMPLETION = "completion", "Completion"
    RESPONSES = "responses", "Responses"
    EMBEDDING = "embedding", "Embedding"
    IMAGE_GENERATION = "image_generation", "Image generation"
    IMAGE_EDIT = "image_edit", "Image edit"
    VIDEO_GENERATION = "video_generation", "Video generation"
    AUDIO_TRANSCRIPTION = "audio_transcription", "Audio transcription"
    AUDIO_SPEECH = "audio_speech", "Audio speech"
    REALTIME = "realtime", "Realtime"
    MODERATION = "moderation", "Moderation"
    RERANK = "rerank", "Rerank"
    OCR = "ocr", "OCR"
    SEARCH = "search", "Search"
    OTHER = "other", "Other"


class Capability(models.TextChoices):
    FUNCTION_CALLING = "function_calling", "Function calling"
    PARALLEL_FUNCTION_CALLING = "parallel_function_calling", "Parallel function calling"
    TOOL_CHOICE = "tool_choice", "Tool choice"
    VISION = "vision", "Vision"
    AUDIO_INPUT = "audio_input", "Audio input"
    AUDIO_OUTPUT = "audio_output", "Audio output"
    VIDEO_INPUT = "video_input", "Video input"
    PDF_INPUT = "pdf_input", "PDF input"
    REASONING = "reasoning", "Reasoning"
    RESPONSE_SCHEMA = "response_schema", "Response schema"
    PROMPT_CACHING = "prompt_caching", "Prompt caching"
    SYSTEM_MESSAGES = "system_messages", "System messages"
    WEB_SEARCH = "web_search", "Web search"
    COMPUTER_USE = "computer_use", "Computer use"
    STREAMING = "streaming", "Streaming"
    ASSISTANT_PREFILL = "assistant_prefill", "Assistant prefill"


class ModelStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DEPRECATED = "deprecated", "Deprecated"


class ScheduledStatus(models.TextChoices):
    """The statuses a model can be scheduled to take (docs/contract.md §7, "Lifecycle")."""

    DEPRECATED = "deprecated", "Deprecated"
    INACTIVE = "inactive", "Inactive"


class ScheduledChangeState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class BulkAction(models.TextChoices):
    DELETE = "delete", "Delete"
    ACTIVATE = "activate", "Activate"
    DEACTIVATE = "deactivate", "Deactivate"
    DEPRECATE = "deprecate", "Deprecate"


# The status each status-changing bulk action moves a model to.
STATUS_BY_BULK_ACTION = {
    BulkAction.ACTIVATE: ModelStatus.ACTIVE,
    BulkAction.DEACTIVATE: ModelStatus.INACTIVE,
    BulkAction.DEPRECATE: ModelStatus.DEPRECATED,
}
