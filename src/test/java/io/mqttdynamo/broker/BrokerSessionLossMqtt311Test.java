package io.mqttdynamo.broker;

import io.mqttdynamo.support.BrokerFaultsProfile;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** {@link BrokerSessionLossTest} with the service speaking MQTT 3.1.1. */
@QuarkusTest
@TestProfile(BrokerFaultsProfile.Mqtt311.class)
class BrokerSessionLossMqtt311Test extends BrokerSessionLossTest {}
