"""Policy packs: versioned rules that turn classifier signals into decisions with reasons."""
