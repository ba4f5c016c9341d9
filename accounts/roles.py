"""The three roles of docs/contract.md section 2 (Django groups, created by a migration)."""

ROLE_GROUPS = {
    "viewer": "Model Viewers",
    "editor": "Model Editors",
    "admin": "Model Administrators",
}
