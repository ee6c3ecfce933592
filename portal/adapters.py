from allauth.account.adapter import DefaultAccountAdapter


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Accounts are provisioned by partner organisations; nobody signs themselves up."""

    def is_open_for_signup(self, request) -> bool:
        return False
