"""The loopback Rocket.Chat server: REST, Omnichannel, DDP realtime; `python -m simulators.rocketchat`."""
