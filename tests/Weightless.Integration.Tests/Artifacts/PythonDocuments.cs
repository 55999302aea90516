namespace Weightless.Integration.Tests.Artifacts;

/// <summary>GraphQL documents exactly as Python 0.16.6 sent them (copied from the recorded traces in shared/reference/client-traces).</summary>
internal static class PythonDocuments
{
    public const string UpsertBucket = """
mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $groupName: String, $description: String, $displayName: String, $notes: String, $commit: String, $config: JSONString, $host: String, $debug: Boolean, $program: String, $repo: String, $jobType: String, $state: String, $sweep: String, $tags: [String!], $summaryMetrics: JSONString) {
  upsertBucket(input: {id: $id, name: $name, groupName: $groupName, modelName: $project, entityName: $entity, description: $description, displayName: $displayName, notes: $notes, config: $config, commit: $commit, host: $host, debug: $debug, jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics}) {
    bucket {
      id
      name
      displayName
      description
      config
      sweepName
      project {
        id
        name
        entity {
          id
          name
        }
      }
      historyLineCount
    }
    inserted
    serverSettings {
      serverMessages {
        utfText
        plainText
        htmlText
        messageType
        messageLevel
      }
    }
  }
}
""";

    public const string ArtifactType = """
query ArtifactType($entityName: String, $projectName: String, $name: String!) {
  project(name: $projectName, entityName: $entityName) {
    artifact(name: $name) {
      artifactType {
        name
      }
    }
  }
}
""";

    public const string ProbeServerCreateArtifactInput = """
query ProbeServerCreateArtifactInput {
  CreateArtifactInputInfoType: __type(name: "CreateArtifactInput") {
    inputFields {
      name
    }
  }
}
""";

    public const string ProbeServerArtifact = """
query ProbeServerArtifact {
  ArtifactInfoType: __type(name: "Artifact") {
    fields {
      name
    }
  }
}
""";

    public const string CreateArtifact = """
mutation CreateArtifact($artifactTypeName: String!, $artifactCollectionNames: [String!], $entityName: String!, $projectName: String!, $runName: String, $description: String, $digest: String!, $aliases: [ArtifactAliasInput!], $metadata: JSONString, $historyStep: Int64!, $clientID: ID, $sequenceClientID: ID, $ttlDurationSeconds: Int64) {
  createArtifact(input: {artifactTypeName: $artifactTypeName, artifactCollectionNames: $artifactCollectionNames, entityName: $entityName, projectName: $projectName, runName: $runName, description: $description, digest: $digest, digestAlgorithm: MANIFEST_MD5, aliases: $aliases, metadata: $metadata, historyStep: $historyStep, clientID: $clientID, sequenceClientID: $sequenceClientID, enableDigestDeduplication: true, ttlDurationSeconds: $ttlDurationSeconds}) {
    artifact {
      id
      state
      artifactSequence {
        id
        latestArtifact {
          id
          versionIndex
        }
      }
    }
  }
}
""";

    public const string CreateArtifactManifest = """
mutation CreateArtifactManifest($name: String!, $digest: String!, $artifactID: ID!, $baseArtifactID: ID, $entityName: String!, $projectName: String!, $runName: String!, $includeUpload: Boolean!) {
  createArtifactManifest(input: {name: $name, digest: $digest, artifactID: $artifactID, baseArtifactID: $baseArtifactID, entityName: $entityName, projectName: $projectName, runName: $runName}) {
    artifactManifest {
      id
      file {
        id
        name
        displayName
        uploadUrl @include(if: $includeUpload)
        uploadHeaders @include(if: $includeUpload)
      }
    }
  }
}
""";

    public const string ProbeServerCreateArtifactFileSpecInput = """
query ProbeServerCreateArtifactFileSpecInput {
  CreateArtifactFileSpecInputInfoType: __type(name: "CreateArtifactFileSpecInput") {
    inputFields {
      name
    }
  }
}
""";

    public const string CreateArtifactFiles = """
mutation CreateArtifactFiles($storageLayout: ArtifactStorageLayout!, $artifactFiles: [CreateArtifactFileSpecInput!]!) {
  createArtifactFiles(input: {artifactFiles: $artifactFiles, storageLayout: $storageLayout}) {
    files {
      edges {
        node {
          id
          name
          displayName
          uploadUrl
          uploadHeaders
          artifact {
            id
          }
        }
      }
    }
  }
}
""";

    public const string CommitArtifact = """
mutation CommitArtifact($artifactID: ID!) {
  commitArtifact(input: {artifactID: $artifactID}) {
    artifact {
      id
      digest
    }
  }
}
""";

    public const string ArtifactByName = """
query ArtifactByName($entityName: String!, $projectName: String!, $name: String!) {
  project(name: $projectName, entityName: $entityName) {
    artifact(name: $name) {
      ...ArtifactFragment
    }
  }
}

fragment ArtifactFragment on Artifact {
  id
  artifactSequence {
    project {
      entityName
      name
    }
    name
  }
  versionIndex
  artifactType {
    name
  }
  description
  metadata
  ttlDurationSeconds
  ttlIsInherited
  aliases {
    artifactCollection {
      project {
        entityName
        name
      }
      name
    }
    alias
  }
  state
  commitHash
  fileCount
  createdAt
  updatedAt
}
""";

    public const string ProbeServerUseArtifactInput = """
query ProbeServerUseArtifactInput {
  UseArtifactInputInfoType: __type(name: "UseArtifactInput") {
    name
    inputFields {
      name
    }
  }
}
""";

    public const string UseArtifact = """
mutation UseArtifact($entityName: String!, $projectName: String!, $runName: String!, $artifactID: ID!, $usedAs: String) {
  useArtifact(input: {entityName: $entityName, projectName: $projectName, runName: $runName, artifactID: $artifactID, usedAs: $usedAs}) {
    artifact {
      id
      digest
      description
      state
      createdAt
      metadata
    }
  }
}
""";

    public const string ArtifactManifest = """
query ArtifactManifest($entityName: String!, $projectName: String!, $name: String!) {
  project(entityName: $entityName, name: $projectName) {
    artifact(name: $name) {
      currentManifest {
        file {
          directUrl
        }
      }
    }
  }
}
""";

    public const string ArtifactFileURLs = """
query ArtifactFileURLs($id: ID!, $cursor: String, $perPage: Int) {
  artifact(id: $id) {
    files(after: $cursor, first: $perPage) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          name
          directUrl
        }
      }
    }
  }
}
""";

    public const string ArtifactByIDShort = """
query ArtifactByIDShort($id: ID!) {
  artifact(id: $id) {
    artifactSequence {
      project {
        entityName
        name
      }
      name
    }
    versionIndex
    ttlDurationSeconds
    ttlIsInherited
    aliases {
      artifactCollection {
        project {
          entityName
          name
        }
        name
      }
      alias
    }
    state
    currentManifest {
      file {
        directUrl
      }
    }
    commitHash
    fileCount
    createdAt
    updatedAt
  }
}
""";
}
