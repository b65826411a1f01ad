"""Fixture: a real Kafka-protocol broker (Tansu) on a free loopback port."""
