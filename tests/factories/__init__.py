"""factory_boy factories, one module per app: factories.contracts, factories.billing, ..."""
