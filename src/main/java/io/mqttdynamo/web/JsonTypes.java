package io.mqttdynamo.web;

import io.mqttdynamo.store.Rows;
import io.quarkus.runtime.annotations.RegisterForReflection;

/** The records the API and the live stream write as JSON, kept whole in the native executable. */
@RegisterForReflection(
        targets = {
            Rows.Client.class, Rows.Subscription.class, Rows.Ack.class, Rows.Page.class,
            Overview.class, Overview.Chart.class, ApiResource.ClientDetail.class, ApiResource.TopicMessages.class,
            ApiResource.MessageJson.class, ApiResource.ApiError.class, LiveResource.LiveUpdate.class
        })
final class JsonTypes {

    private JsonTypes() {}
}
