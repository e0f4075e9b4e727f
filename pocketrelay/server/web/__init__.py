"""
The server's twisted.web resources: the Blaze upgrade, the JSON API, Galaxy
at War, QoS, content and the dashboard.
"""
