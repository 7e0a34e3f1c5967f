from simulators.salesforce.server import main

main()
