package io.mqttdynamo.suites;

import org.junit.platform.suite.api.SelectPackages;
import org.junit.platform.suite.api.Suite;

/**
 * The tests of the broker sessions and the delivery functions, and the small packages beside them: one test JVM's
 * share.
 */
@Suite
@SelectPackages({
    "io.mqttdynamo.broker",
    "io.mqttdynamo.delivery",
    "io.mqttdynamo.cluster",
    "io.mqttdynamo.config",
    "io.mqttdynamo.domain"
})
public class BrokerDeliverySuite {}
