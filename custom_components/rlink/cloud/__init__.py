"""The cloud account: Home Assistant plays an rlink app (`account.CloudAccount`)."""
