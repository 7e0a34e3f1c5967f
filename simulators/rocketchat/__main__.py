from simulators.rocketchat.server import main

main()
