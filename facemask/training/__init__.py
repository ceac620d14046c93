"""Training the two networks: the mask classifier (classifier.py: its model, augmentation, tf.distribute loop and
checkpoints) and our face detector (detector.py, on the scene photos and composed crowds of scenes.py), and cutting
street faces into a classifier dataset (scene_faces.py). Detection never imports it.
"""
