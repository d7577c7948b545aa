package io.mqttdynamo.suites;

import org.junit.platform.suite.api.SelectClasses;
import org.junit.platform.suite.api.SelectPackages;
import org.junit.platform.suite.api.Suite;

/**
 * The tests of ingest, the hook functions, the store, the web layer, the deploy files and the test support, and
 * the whole-tree checks: the other test JVM's share.
 */
@Suite
@SelectPackages({
    "io.mqttdynamo.ingest",
    "io.mqttdynamo.hooks",
    "io.mqttdynamo.store",
    "io.mqttdynamo.web",
    "io.mqttdynamo.deploy",
    "io.mqttdynamo.support"
})
@SelectClasses(names = {"io.mqttdynamo.PackageLayersTest", "io.mqttdynamo.suites.SuitesTest"})
public class IngestStoreWebSuite {}
