"""The Salesforce core: JWT bearer auth and token cache, the simple-salesforce client with typed
errors, the CRM operations the chat side needs, and the describe (metadata) cache."""
