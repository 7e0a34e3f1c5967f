"""The loopback Salesforce org: OAuth JWT, REST, SOQL, SOSL, composite; `python -m simulators.salesforce`."""
