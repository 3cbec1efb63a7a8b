"""The warrant portal (Flask): officers, judges, custodians, auditors. Built in a later issue."""
