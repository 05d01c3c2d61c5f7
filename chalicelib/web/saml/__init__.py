"""SAML 2.0 service provider: SP metadata, signed AuthnRequests (HTTP-Redirect) and the ACS (HTTP-POST).

pysaml2 is imported only inside functions of ``sp_config``, ``authn_requests``, ``responses`` and ``metadata``
(never at module import, so ``app.py`` stays light). ``xml_guard``, ``signed_view`` and ``mapping`` use the
standard library and defusedxml only.
"""
