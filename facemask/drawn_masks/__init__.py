"""Masks drawn on face photos, to train on masked faces that no one photographed: the face mesh's landmarks
(face_landmarks.py), a mask drawn to them (mask_drawing.py), and make_masked_faces.py's run (masked_faces.py).
"""
