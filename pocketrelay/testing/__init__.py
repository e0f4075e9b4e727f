# -*- test-case-name: tests.test_imports -*-
"""
Helpers for pocketrelay's tests and benchmarks, shipped with the package
(as treq ships C{treq.testing}) so that test modules share them from here
and never import each other:

  - L{fakes}: hand-written fakes (a recording Blaze dispatcher, a fake
    Pocket Relay server endpoint);
  - L{server}: the server's hub on in-memory parts (L{server.ServerHarness},
    L{server.SynchronousStore}, L{server.ServerTestCase});
  - L{web}: the server's HTTP site driven in memory;
  - L{gameclient}: a simulated ME3 client;
  - L{games}: values for tests of the game model;
  - L{ssl3}: certificates, ClientHellos and in-memory pairs for the SSL 3.0
    transport;
  - L{tlsca}: throw-away certificate authorities (a root and an
    intermediate); every test certificate is made by
    L{tlsca.signCertificate};
  - L{pki}: a throw-away single-root authority built on L{tlsca};
  - L{loopback}: the real server and web resources on 127.0.0.1;
  - L{logs}: log events of a test (L{logs.captureLogs});
  - L{strategies}, L{fuzzing}: Hypothesis strategies and fuzz targets.
"""
