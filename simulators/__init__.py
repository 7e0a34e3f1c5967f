"""Loopback simulators of Rocket.Chat and Salesforce: the embedded default for the demo and tests."""
