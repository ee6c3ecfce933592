# Opt-outs, proxies and permissions given on a person's behalf live here (see the citizens' rights issue).
