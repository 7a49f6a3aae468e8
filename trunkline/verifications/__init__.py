"""One-time passcodes sent by SMS, and checked."""
